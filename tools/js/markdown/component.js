// The `markdown` component's entry module for componentize-js: exports the
// tools of tools.js as the `warden:tool/tool` interface.
import { exportTool } from '../sdk/bridge.js';
import { toolbox } from './tools.js';

export const tool = exportTool(toolbox);
