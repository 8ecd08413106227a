export { ReasonsExplained, useReasonCatalog, testIds as reasonsTestIds } from './ReasonsExplained';
export { fetchReasonCatalog, reasonsInData, type ReasonEntry, type ReasonRate } from './catalog';
