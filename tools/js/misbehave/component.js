// Entry module for componentize-js: the `jsmisbehave` tools.
import { exportTool } from '../sdk/bridge.js';
import { toolbox } from './tools.js';

export const tool = exportTool(toolbox);
