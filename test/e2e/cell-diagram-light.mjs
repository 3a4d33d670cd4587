// The cell diagram beside the step debugger, light theme (see lib/diagram.mjs).
import { diagramScenario } from './lib/diagram.mjs';
import { settingsFor } from './lib/inspect.mjs';

export const settings = settingsFor('light');
export default diagramScenario;
