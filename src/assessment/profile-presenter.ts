import type { Framework } from '../competencies/framework';
import type { CompetencyScore } from './scoring';

const levelText: Record<string, string> = { novice: 'Novice', developing: 'Developing', proficient: 'Proficient', expert: 'Expert' };

export interface ProfileRow {
  id: string;
  name: string;
  domain: string;
  score: number | undefined;
  scoreText: string;
  level: string;
  modules: string;
  pending: boolean;
}

export interface ProfileView {
  domains: { id: string; name: string; rows: ProfileRow[] }[];
  assessed: number;
  total: number;
  svg: { width: number; height: number; title: string; desc: string; elements: SvgElement[] };
}

type SvgElement =
  | { kind: 'domain'; y: number; text: string }
  | {
      kind: 'row';
      y: number;
      label: string;
      barWidth: number;
      barX: number;
      scoreLabel: string;
      scoreX: number;
      levelClass: string;
      trackWidth: number;
    };

function escapeDesc(rows: ProfileRow[]): string {
  return rows.map((r) => `${r.id} ${r.name}: ${r.score === undefined ? 'not assessed yet' : `${r.scoreText}, ${r.level}`}`).join('; ');
}

/**
 * The competency profile: 13 competencies grouped by domain, score and level, with the modules that fed
 * each score. The SVG chart carries its data in text (score and level next to each bar) so colour is
 * never the only carrier of meaning; the table view repeats the same data.
 */
export function presentProfile(framework: Framework, scores: readonly CompetencyScore[]): ProfileView {
  const byId = new Map(scores.map((s) => [s.competencyId, s]));
  const domains = framework.domains.map((d) => ({
    id: d.id,
    name: d.name,
    rows: d.competencies.map((c): ProfileRow => {
      const s = byId.get(c.id);
      return {
        id: c.id,
        name: c.name,
        domain: d.name,
        score: s?.score,
        scoreText: s ? `${s.score.toFixed(1)} / 100` : 'not assessed yet',
        level: s ? (levelText[s.level] ?? s.level) : '—',
        modules: s ? s.modules.join(', ') : '',
        pending: s?.pendingFacultyRating ?? false,
      };
    }),
  }));
  const rows = domains.flatMap((d) => d.rows);
  const width = 720;
  const labelWidth = 330;
  const trackWidth = 250;
  const elements: SvgElement[] = [];
  let y = 8;
  for (const d of domains) {
    y += 22;
    elements.push({ kind: 'domain', y, text: d.name });
    for (const r of d.rows) {
      y += 26;
      elements.push({
        kind: 'row',
        y,
        label: `${r.id} ${r.name.length > 44 ? `${r.name.slice(0, 42)}…` : r.name}`,
        barX: labelWidth,
        trackWidth,
        barWidth: r.score === undefined ? 0 : Math.max(2, Math.round((r.score / 100) * trackWidth)),
        scoreLabel: r.score === undefined ? 'not assessed' : `${Math.round(r.score)} · ${r.level}`,
        scoreX: labelWidth + trackWidth + 8,
        levelClass: r.score === undefined ? 'lvl-none' : `lvl-${byId.get(r.id)?.level ?? 'none'}`,
      });
    }
  }
  return {
    domains,
    assessed: rows.filter((r) => r.score !== undefined).length,
    total: rows.length,
    svg: {
      width,
      height: y + 14,
      title: 'Competency profile',
      desc: escapeDesc(rows),
      elements,
    },
  };
}
