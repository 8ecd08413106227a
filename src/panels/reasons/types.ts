/** Options of the Netlens drop reasons panel. */
export interface ReasonsPanelOptions {
  /** Unit of the rates in the data: pps for a packets query, Bps for bytes. */
  unit: 'pps' | 'Bps';
  /** Link each reason to the app's Drops page filtered by it. */
  linkToDrops: boolean;
}

export const DEFAULT_OPTIONS: ReasonsPanelOptions = { unit: 'pps', linkToDrops: true };
