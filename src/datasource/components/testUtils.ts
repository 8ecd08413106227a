import { act, fireEvent, screen, within } from '@testing-library/react';

/**
 * Lets @grafana/ui Combobox and MultiCombobox menus render in jsdom: they
 * measure themselves (virtualised lists) and watch visibility.
 */
export function enableComboboxMenus() {
  beforeAll(() => {
    jest.spyOn(Element.prototype, 'getBoundingClientRect').mockReturnValue({
      width: 400,
      height: 400,
      top: 0,
      left: 0,
      bottom: 400,
      right: 400,
      x: 0,
      y: 0,
      toJSON: () => ({}),
    });
    for (const prop of ['clientWidth', 'clientHeight', 'offsetWidth', 'offsetHeight']) {
      Object.defineProperty(HTMLElement.prototype, prop, { configurable: true, get: () => 400 });
    }
    class NoopObserver {
      observe() {}
      unobserve() {}
      disconnect() {}
      takeRecords() {
        return [];
      }
    }
    Object.assign(global, { IntersectionObserver: NoopObserver, ResizeObserver: NoopObserver });
  });
}

/** Opens the combobox labelled `label` and clicks the option named `option`. */
export function choose(label: string | RegExp, option: string | RegExp) {
  const input = screen.getByLabelText(label);
  act(() => {
    fireEvent.click(input);
  });
  fireEvent.click(within(screen.getByRole('listbox')).getByRole('option', { name: option }));
}
