// @grafana/runtime/unstable as the shell shares it with the plugin (the
// plugin's bundled @grafana/scenes reaches data sources through it, by way
// of @grafana/plugin-compat). getDataSourceInstance resolves a variable ref
// ("${ds}") to the data source it names before the lookup: the runtime's
// own lookup would build the instance with the uid "${ds}", and its
// resource calls would go to /api/datasources/uid/${ds}/.
import { DataSourceRef, ScopedVars } from '@grafana/data';
import { getTemplateSrv } from '@grafana/runtime';
import { getDataSourceInstance as runtimeGetDataSourceInstance } from 'grafana-runtime-internal/unstable.mjs';

export * from 'grafana-runtime-internal/unstable.mjs';

export function resolveRef(ref?: DataSourceRef | string | null, scopedVars?: ScopedVars) {
  const uid = typeof ref === 'string' ? ref : ref?.uid;
  if (!uid || !uid.startsWith('$')) {
    return ref;
  }
  const resolved = getTemplateSrv().replace(uid, scopedVars);
  return typeof ref === 'string' ? resolved : { ...ref, uid: resolved };
}

export function getDataSourceInstance(ref?: DataSourceRef | string | null, scopedVars?: ScopedVars) {
  return runtimeGetDataSourceInstance(resolveRef(ref, scopedVars) as DataSourceRef, scopedVars);
}
