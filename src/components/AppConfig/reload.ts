/**
 * Reloads the page, so that Grafana's navigation picks up a change of the
 * app's settings. A module of its own so that tests can replace it: jsdom
 * cannot reload, and its window.location cannot be redefined.
 */
export function reloadPage() {
  window.location.reload();
}
