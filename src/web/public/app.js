// Progressive enhancement only: every page works without this file.
(function () {
  'use strict';
  // Ask the LMS to size its iframe to our content (Canvas and Moodle listen for lti.frameResize).
  function postHeight() {
    if (window.parent === window) return;
    var root = document.documentElement;
    var height = root.getBoundingClientRect().height;
    // Overflow (a margin or an absolutely placed element below the content) counts only while the page overflows:
    // scrollHeight never falls below the frame's own height, so alone it could never shrink the frame.
    if (root.scrollHeight > root.clientHeight) height = Math.max(height, root.scrollHeight);
    height = Math.ceil(height);
    window.parent.postMessage({ subject: 'lti.frameResize', height: height }, '*');
  }
  window.addEventListener('load', postHeight);
  if ('ResizeObserver' in window) new ResizeObserver(postHeight).observe(document.documentElement);
  // Auto-submit forms marked data-autosubmit (the deep-linking response back to the LMS).
  document.addEventListener('DOMContentLoaded', function () {
    var form = document.querySelector('form[data-autosubmit]');
    if (form) form.submit();
  });
})();
// Copy buttons (home page): shown only where the clipboard can be written.
document.addEventListener('DOMContentLoaded', function () {
  'use strict';
  if (!navigator.clipboard) return;
  Array.prototype.forEach.call(document.querySelectorAll('button[data-copy]'), function (button) {
    button.hidden = false;
    button.addEventListener('click', function () {
      var source = document.getElementById(button.getAttribute('data-copy'));
      if (!source) return;
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = 'Copied';
        setTimeout(function () { button.textContent = 'Copy'; }, 2000);
      });
    });
  });
});
