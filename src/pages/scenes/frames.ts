import { map } from 'rxjs';
import { DataFrame, getFieldDisplayName } from '@grafana/data';
import type { CustomTransformOperator } from '@grafana/scenes';

/**
 * The series a query with several targets answers are named by the target's
 * key first (`rx_cache_full <node> <interface>`, `dropped <node> ...`): keeps
 * the frames of the given targets.
 */
export function onlyTargets(keys: string[]): CustomTransformOperator {
  return () => (source) => source.pipe(map((frames) => framesOfTargets(frames, keys)));
}

export function framesOfTargets(frames: DataFrame[], keys: string[]): DataFrame[] {
  const matches = (name: string | undefined) =>
    Boolean(name) && keys.some((k) => name === k || name!.startsWith(`${k} `));
  return frames.filter((frame) => {
    if (matches(frame.name)) {
      return true;
    }
    const value = frame.fields.find((f) => f.type !== 'time');
    return value ? matches(value.config.displayNameFromDS ?? getFieldDisplayName(value, frame)) : false;
  });
}
