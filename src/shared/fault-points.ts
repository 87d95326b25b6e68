/**
 * Named crash points for the passback fault tests: with COACHLTI_FAULT_POINT set (never in production),
 * the process kills itself with SIGKILL the first time it reaches that step. Unset, this does nothing.
 */
export const faultPointNames = ['after-complete', 'after-score-save', 'after-enqueue', 'mid-send'] as const;
export type FaultPointName = (typeof faultPointNames)[number];
export type FaultPoint = (name: FaultPointName) => void;

export const noFaultPoint: FaultPoint = () => undefined;

export function createFaultPoint(armed: FaultPointName | undefined): FaultPoint {
  if (!armed) return noFaultPoint;
  return (name) => {
    if (name === armed) process.kill(process.pid, 'SIGKILL');
  };
}
