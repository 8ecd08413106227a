import React, { useMemo } from 'react';

import { ScenePage } from './scenes/ScenePage';
import { buildNodesScene } from './scenes/nodes';

function NodesPage() {
  const scene = useMemo(() => buildNodesScene(), []);
  return <ScenePage scene={scene} />;
}

export default NodesPage;
