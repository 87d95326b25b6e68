import { shortRoleName, summarizeRoles } from './roles';

const lis = 'http://purl.imsglobal.org/vocab/lis/v2/';

describe('summarizeRoles', () => {
  test.each([
    [
      'a Canvas student (context Learner + institution Student)',
      [`${lis}membership#Learner`, `${lis}institution/person#Student`],
      'learner',
      true,
    ],
    ['a Moodle teacher (context Instructor)', [`${lis}membership#Instructor`], 'instructor', false],
    ['a teaching assistant sub-role', [`${lis}membership/Instructor#TeachingAssistant`], 'instructor', false],
    ['a content developer', [`${lis}membership#ContentDeveloper`], 'instructor', false],
    ['an old short-form instructor', ['Instructor'], 'instructor', false],
    ['an old short-form learner', ['Learner'], 'learner', true],
    [
      'a Canvas account admin (institution Administrator)',
      [`${lis}institution/person#Administrator`, `${lis}system/person#User`],
      'admin',
      false,
    ],
    [
      'a Moodle site admin (system Administrator) who is also a teacher',
      [`${lis}system/person#Administrator`, `${lis}membership#Instructor`],
      'admin',
      false,
    ],
    ['a mentor (unknown to the tool)', [`${lis}membership#Mentor`], 'learner', false],
    ['no roles at all', [], 'learner', false],
  ])('when the launch carries %s, then the view is %s', (_label, roles, view, isLearner) => {
    const summary = summarizeRoles(roles);
    expect(summary.view).toBe(view);
    expect(summary.isLearner).toBe(isLearner);
  });

  test('when a faculty member is institution Faculty but context Learner, then they get the learner view (context decides)', () => {
    expect(summarizeRoles([`${lis}institution/person#Faculty`, `${lis}membership#Learner`]).view).toBe('learner');
  });

  test('when Canvas sends Instructor with the TeachingAssistant sub-role, then the instructor view opens as an assistant (no settings); a plain instructor is not one', () => {
    const ta = summarizeRoles([`${lis}membership#Instructor`, `${lis}membership/Instructor#TeachingAssistant`]);
    expect(ta.view).toBe('instructor');
    expect(ta.isAssistant).toBe(true);
    expect(summarizeRoles([`${lis}membership#Instructor`]).isAssistant).toBe(false);
  });

  test('when a role URI is shortened for a roster, then the fragment is kept', () => {
    expect(shortRoleName(`${lis}membership/Instructor#TeachingAssistant`)).toBe('TeachingAssistant');
    expect(shortRoleName('Learner')).toBe('Learner');
  });
});
