// Modules of @grafana/runtime's and @grafana/i18n's dist that their package
// exports do not expose: build.mjs resolves these names to the files (see
// aliasInternal there). They are Grafana's internals, typed as any here.
declare module 'grafana-runtime-internal/*';
declare module 'grafana-i18n-internal';
