import { defaultThresholds, type ProficiencyLevel } from '../assessment/scoring';

/** The four proficiency levels as every export shows them, lowest first; minimum score from scoring.ts. */
export interface ProficiencyLevelInfo {
  readonly key: ProficiencyLevel;
  readonly label: string;
  /** Lowest competency score (0–100) that reaches this level. */
  readonly minScore: number;
  readonly description: string;
}

export const proficiencyLevels: readonly ProficiencyLevelInfo[] = [
  { key: 'novice', label: 'Novice', minScore: 0, description: `Competency score below ${defaultThresholds.developing}.` },
  {
    key: 'developing',
    label: 'Developing',
    minScore: defaultThresholds.developing,
    description: `Competency score from ${defaultThresholds.developing} to below ${defaultThresholds.proficient}.`,
  },
  {
    key: 'proficient',
    label: 'Proficient',
    minScore: defaultThresholds.proficient,
    description: `Competency score from ${defaultThresholds.proficient} to below ${defaultThresholds.expert}.`,
  },
  {
    key: 'expert',
    label: 'Expert',
    minScore: defaultThresholds.expert,
    description: `Competency score ${defaultThresholds.expert} or more.`,
  },
];

/** The level a program counts as mastery (Canvas mastery_points, Moodle "proficient"). */
export const masteryLevel: ProficiencyLevel = 'proficient';
