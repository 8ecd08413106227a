import React from 'react';

import { ReasonsExplained, useReasonCatalog } from './ReasonsExplained';
import { useDropReasons } from './useDropReasons';

/** The reasons dropping packets on a data source's nodes over the last `minutes`, explained from its catalog. */
export function DropReasons({ dataSourceUid, minutes = 60 }: { dataSourceUid: string; minutes?: number }) {
  const drops = useDropReasons(dataSourceUid, minutes);
  const catalog = useReasonCatalog(dataSourceUid);
  return (
    <ReasonsExplained
      reasons={drops.reasons}
      catalog={catalog.catalog}
      loading={drops.loading || catalog.loading}
      error={[drops.error, catalog.error].filter(Boolean).join('; ') || undefined}
      unit="pps"
    />
  );
}
