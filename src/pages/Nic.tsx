import React, { useMemo } from 'react';

import { ScenePage } from './scenes/ScenePage';
import { buildNicScene } from './scenes/nic';

function NicPage() {
  const scene = useMemo(() => buildNicScene(), []);
  return <ScenePage scene={scene} />;
}

export default NicPage;
