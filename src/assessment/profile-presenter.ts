import type { Framework } from '../competencies/framework';
import { formatDateTime, formatLevel, formatScore, scoreOutOf100 } from '../shared/format';
import type { CompetencyScore } from './scoring';

/** One stored snapshot, as the history needs it. */
export interface HistoryPoint {
  computedAt: Date;
  scores: readonly CompetencyScore[];
}

export interface ProfileRow {
  id: string;
  name: string;
  domain: string;
  score: number | undefined;
  scoreText: string;
  level: string;
  modules: string;
  pending: boolean;
  insufficient: boolean;
  /** Evidence behind the score: items, kinds, faculty ratings, secondary items. */
  evidence: string;
  /** Why the level is below what the score alone would give. */
  levelCap: string | undefined;
  /** The coach's own ratings beside the score (never part of it). */
  selfAssessment: string | undefined;
}

export interface CompetencyHistoryView {
  id: string;
  name: string;
  /** Changes only (a recomputation that changed nothing is not repeated). */
  points: { at: string; atText: string; text: string }[];
  svg:
    | { width: number; height: number; title: string; desc: string; path: string; dots: { x: number; y: number; label: string }[] }
    | undefined;
}

export interface ProfileView {
  domains: { id: string; name: string; rows: ProfileRow[] }[];
  assessed: number;
  total: number;
  history: CompetencyHistoryView[];
  svg: { width: number; height: number; title: string; desc: string; elements: SvgElement[] };
}

type SvgElement =
  | { kind: 'domain'; y: number; text: string }
  | {
      kind: 'row';
      y: number;
      /** The competency's id and full name, wrapped onto as many lines as it needs (never cut). */
      lines: { text: string; dy: number }[];
      barWidth: number;
      barX: number;
      scoreLabel: string;
      scoreX: number;
      levelClass: string;
      trackWidth: number;
    };

function escapeDesc(rows: ProfileRow[]): string {
  return rows.map((r) => `${r.id} ${r.name}: ${r.score === undefined ? r.scoreText : `${r.scoreText}, ${r.level}`}`).join('; ');
}

function evidenceText(s: CompetencyScore): string {
  const e = s.evidence;
  const parts = [
    `${e.primaryItems} item${e.primaryItems === 1 ? '' : 's'} (${e.kinds.join(', ') || 'none'})`,
    `${e.ratedPerformances} faculty-rated`,
  ];
  if (e.secondaryItems > 0) parts.push(`${e.secondaryItems} secondary`);
  if (e.pending > 0) parts.push(`${e.pending} awaiting rating`);
  return parts.join(' · ');
}

function selfText(s: CompetencyScore): string | undefined {
  const a = s.selfAssessment;
  if (!a) return undefined;
  const gap =
    a.gapLevels === undefined || a.gapLevels === null
      ? 'no faculty rating to compare yet'
      : a.gapLevels === 0
        ? 'same as faculty'
        : `${Math.abs(a.gapLevels).toFixed(1)} level${Math.abs(a.gapLevels) === 1 ? '' : 's'} ${a.gapLevels > 0 ? 'above' : 'below'} faculty`;
  return `Your self-rating ${scoreOutOf100(a.selfScore)} · ${gap}`;
}

const scoreTextOf = (s: CompetencyScore | undefined): string =>
  !s
    ? 'not assessed yet'
    : s.score === undefined
      ? `Insufficient evidence: ${s.missing ?? 'more evidence needed'}`
      : scoreOutOf100(s.score);

/** Each competency's changes over time, as a table and a small line chart (values written beside the points). */
export function presentHistory(framework: Framework, history: readonly HistoryPoint[]): CompetencyHistoryView[] {
  const out: CompetencyHistoryView[] = [];
  for (const c of framework.domains.flatMap((d) => d.competencies)) {
    const points: { at: Date; score: number | undefined; text: string }[] = [];
    for (const h of history) {
      const s = h.scores.find((x) => x.competencyId === c.id);
      if (!s) continue;
      const text = s.score === undefined ? 'Insufficient evidence' : `${formatScore(s.score)} · ${formatLevel(s.level ?? '')}`;
      if (points[points.length - 1]?.text === text) continue;
      points.push({ at: h.computedAt, score: s.score, text });
    }
    if (points.length === 0) continue;
    const width = 320;
    const height = 80;
    const step = points.length === 1 ? 0 : (width - 40) / (points.length - 1);
    const dots = points.flatMap((p, i) =>
      p.score === undefined
        ? []
        : [{ x: Math.round(20 + i * step), y: Math.round(height - 10 - (p.score / 100) * (height - 25)), label: formatScore(p.score) }],
    );
    out.push({
      id: c.id,
      name: c.name,
      points: points.map((p) => ({ at: p.at.toISOString(), atText: formatDateTime(p.at), text: p.text })),
      svg:
        dots.length === 0
          ? undefined
          : {
              width,
              height,
              title: `${c.id} ${c.name}: change over time`,
              desc: points.map((p) => `${formatDateTime(p.at)}: ${p.text}`).join('; '),
              path: dots.map((d, i) => `${i === 0 ? 'M' : 'L'}${d.x} ${d.y}`).join(' '),
              dots,
            },
    });
  }
  return out;
}

const labelChars = 44;
const lineHeight = 15;

/** Breaks text at spaces into lines of at most `max` characters (a longer single word gets its own line). */
export function wrapWords(text: string, max: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines.length > 0 ? lines : [''];
}

/**
 * The competency profile: 13 competencies grouped by domain, score and level, with the modules that fed
 * each score. The SVG chart carries its data in text (score and level next to each bar) so colour is
 * never the only carrier of meaning; the table view repeats the same data.
 */
export function presentProfile(
  framework: Framework,
  scores: readonly CompetencyScore[],
  history: readonly HistoryPoint[] = [],
): ProfileView {
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
        scoreText: scoreTextOf(s),
        level: s?.level ? formatLevel(s.level) : '—',
        modules: s ? s.modules.join(', ') : '',
        pending: s?.pendingFacultyRating ?? false,
        insufficient: s !== undefined && s.score === undefined,
        evidence: s ? evidenceText(s) : '',
        levelCap: s?.levelCap,
        selfAssessment: s ? selfText(s) : undefined,
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
      const lines = wrapWords(`${r.id} ${r.name}`, labelChars);
      y += 26;
      elements.push({
        kind: 'row',
        y,
        lines: lines.map((text, i) => ({ text, dy: i === 0 ? 0 : lineHeight })),
        barX: labelWidth,
        trackWidth,
        barWidth: r.score === undefined ? 0 : Math.max(2, Math.round((r.score / 100) * trackWidth)),
        scoreLabel:
          r.score === undefined ? (r.insufficient ? 'Insufficient evidence' : 'Not assessed') : `${formatScore(r.score)} · ${r.level}`,
        scoreX: labelWidth + trackWidth + 8,
        levelClass: r.score === undefined ? 'lvl-none' : `lvl-${byId.get(r.id)?.level ?? 'none'}`,
      });
      y += (lines.length - 1) * lineHeight;
    }
  }
  return {
    domains,
    assessed: rows.filter((r) => r.score !== undefined).length,
    total: rows.length,
    history: presentHistory(framework, history),
    svg: {
      width,
      height: y + 14,
      title: 'Competency profile',
      desc: escapeDesc(rows),
      elements,
    },
  };
}
