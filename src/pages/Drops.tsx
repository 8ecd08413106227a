import React, { useMemo } from 'react';

import { ScenePage } from './scenes/ScenePage';
import { buildDropsScene } from './scenes/drops';

function DropsPage() {
  const scene = useMemo(() => buildDropsScene(), []);
  return <ScenePage scene={scene} />;
}

export default DropsPage;
