// @grafana/scenes creates an IntersectionObserver when it loads (LazyLoader),
// which jsdom does not have. Import this first in tests that load scenes.
class NoIntersectionObserver {
  readonly root = null;
  readonly rootMargin = '';
  readonly thresholds = [];
  observe() {}
  unobserve() {}
  disconnect() {}
  takeRecords() {
    return [];
  }
}

if (typeof globalThis.IntersectionObserver === 'undefined') {
  globalThis.IntersectionObserver = NoIntersectionObserver as unknown as typeof IntersectionObserver;
}

export {};
