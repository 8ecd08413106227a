// Jest setup provided by Grafana scaffolding
import './.config/jest-setup';
import { configure } from '@testing-library/react';

// @grafana/ui's Combobox measures option text on a canvas; jsdom has none and
// the scaffold's stub returns no context.
HTMLCanvasElement.prototype.getContext = () => ({ measureText: (text) => ({ width: text.length * 7 }) });

// Time limits, the only ones the frontend tests have. They catch a test that
// hangs, not a slow machine: rendering @grafana/ui in jsdom takes seconds per
// test on a busy 2-core machine, past Jest's default of 5 s per test and
// testing-library's 1 s for findBy/waitFor. A findBy that cannot succeed
// fails after PATIENCE_MS, before the test's own limit, so it says what it
// was waiting for. No test depends on wall-clock time passing (none waits or
// uses timers); one that must would use Jest's fake timers.
const PATIENCE_MS = 60_000;
configure({ asyncUtilTimeout: PATIENCE_MS });
jest.setTimeout(3 * PATIENCE_MS);
