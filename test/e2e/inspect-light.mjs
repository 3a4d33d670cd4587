// The Inspector in the real workbench, light theme (see lib/inspect.mjs).
import { inspectScenario, settingsFor } from './lib/inspect.mjs';

export const settings = settingsFor('light');
export default inspectScenario;
