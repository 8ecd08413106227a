// Grafana's frontend registers the standard data transformations (reduce,
// merge, organize, ...) at startup; a transformation whose id is not in the
// registry is silently skipped, so a shell without them would show panels
// untransformed frames and still pass.
import { standardTransformers, standardTransformersRegistry, type TransformerRegistryItem } from '@grafana/data';

export function registerTransformers() {
  // Some transformers are exported under two names: register each once.
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- what Grafana itself registers
  const unique = new Map(Object.values(standardTransformers).map((t) => [t.id, t]));
  standardTransformersRegistry.setInit(
    () =>
      [...unique.values()].map((t) => ({
        id: t.id,
        aliasIds: t.aliasIds,
        name: t.name,
        description: t.description,
        transformation: () => Promise.resolve(t),
        // Editors are Grafana's own UI (the panel editor), which the shell has not.
        editor: () => null,
      })) as unknown as TransformerRegistryItem[]
  );
}
