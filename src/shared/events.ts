/**
 * Domain events: one small interface between the part of the tool that changes something and the
 * parts that react (grade passback consumes competencyScoresChanged). In-process, awaited, in order: a
 * handler's failure reaches the publisher, which then leaves its "scores owed" mark for the sweeper.
 */
/** `resync` sends every column again; `backfill` (a column switched on) only what the LMS does not have yet. */
export type ScoreCause = 'module-completed' | 'faculty-rating' | 'resync' | 'backfill';

export interface CompetencyScoresChanged {
  type: 'competencyScoresChanged';
  platform: { issuer: string; clientId: string; deploymentId: string };
  context: { courseId: string; contextId: string };
  user: { userId: string; sub: string };
  /** Why the scores changed (a completed module, a faculty rating, a resync, a column switched on). */
  cause: { kind: ScoreCause; moduleId?: string; attemptId?: string };
  /** `score` and `level` are absent when the evidence is insufficient (`missing` says what is lacking). */
  scores: {
    competencyId: string;
    status: 'scored' | 'insufficient-evidence';
    score?: number;
    level?: string;
    missing?: string;
    modules: string[];
    pendingFacultyRating: boolean;
  }[];
  /**
   * The score of every module completed in the course that has a resource link there (whatever route the
   * coach took into the module), for the module's own line item.
   */
  moduleScores: {
    moduleId: string;
    resourceLinkId: string;
    lineItemUrl: string | undefined;
    score: number;
    pendingFacultyRating: boolean;
  }[];
  /** When the scores were computed (by this process's clock): the proposed AGS timestamp, never "now" at send time. */
  computedAt: Date;
  /** Learner × course sequence number taken before the attempts were read: the order of computations. */
  version: number;
}

export type DomainEvent = CompetencyScoresChanged;

export type EventHandler<E extends DomainEvent = DomainEvent> = (event: E) => Promise<void>;

export interface EventBus {
  publish(event: DomainEvent): Promise<void>;
  subscribe<T extends DomainEvent['type']>(type: T, handler: EventHandler<Extract<DomainEvent, { type: T }>>): void;
}

export function createEventBus(): EventBus {
  const handlers = new Map<string, EventHandler[]>();
  return {
    async publish(event) {
      for (const handler of handlers.get(event.type) ?? []) await handler(event);
    },
    subscribe(type, handler) {
      handlers.set(type, [...(handlers.get(type) ?? []), handler as EventHandler]);
    },
  };
}
