// The Inspector in the real workbench, dark theme (see lib/inspect.mjs).
import { inspectScenario, settingsFor } from './lib/inspect.mjs';

export const settings = settingsFor('dark');
export default inspectScenario;
