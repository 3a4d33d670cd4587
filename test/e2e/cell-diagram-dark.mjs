// The cell diagram beside the step debugger, dark theme (see lib/diagram.mjs).
import { diagramScenario } from './lib/diagram.mjs';
import { settingsFor } from './lib/inspect.mjs';

export const settings = settingsFor('dark');
export default diagramScenario;
