// Progressive enhancement only: without this file the limit is stated beside the field and the server refuses
// longer text with a message. With it, a live character counter is shown under each textarea[data-char-limit]
// and the error summary's links focus their fields.
(function () {
  'use strict';
  // Loaded by pages with a counter and by the error summary; once is enough.
  if (window.coachltiForms) return;
  window.coachltiForms = true;
  var format = function (n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  };
  function attach(area, index) {
    var limit = Number(area.getAttribute('data-char-limit'));
    if (!limit) return;
    var visible = document.createElement('p');
    visible.className = 'char-count';
    visible.id = (area.id || 'textarea-' + index) + '-count';
    visible.setAttribute('aria-hidden', 'true');
    // A quieter copy for screen readers, updated once typing pauses rather than on every key.
    var live = document.createElement('p');
    live.className = 'visually-hidden';
    live.setAttribute('aria-live', 'polite');
    area.insertAdjacentElement('afterend', live);
    area.insertAdjacentElement('afterend', visible);
    var timer;
    function text() {
      var length = area.value.replace(/\r\n?/g, '\n').trim().length;
      var over = length - limit;
      return {
        over: over > 0,
        message:
          over > 0
            ? format(length) + ' of ' + format(limit) + ' characters: ' + format(over) + ' too many'
            : format(length) + ' of ' + format(limit) + ' characters',
      };
    }
    function update() {
      var t = text();
      visible.textContent = t.message;
      visible.classList.toggle('is-over', t.over);
      clearTimeout(timer);
      timer = setTimeout(function () {
        live.textContent = t.message;
      }, 1000);
    }
    area.addEventListener('input', update);
    var t = text();
    visible.textContent = t.message;
    visible.classList.toggle('is-over', t.over);
  }
  // An error summary's link moves focus to its field (a fragment link alone only scrolls).
  function focusField(event) {
    var link = event.target.closest('.error-summary a[href^="#"]');
    if (!link) return;
    var field = document.getElementById(link.getAttribute('href').slice(1));
    if (!field) return;
    event.preventDefault();
    field.scrollIntoView({ block: 'center' });
    field.focus();
  }
  function init() {
    var areas = document.querySelectorAll('textarea[data-char-limit]');
    for (var i = 0; i < areas.length; i += 1) attach(areas[i], i);
    document.addEventListener('click', focusField);
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();
