// The Gradient reach card with the comparison RNN, dark theme (see lib/reach.mjs).
import { settingsFor } from './lib/inspect.mjs';
import { reachScenario } from './lib/reach.mjs';

export const settings = settingsFor('dark');
export default reachScenario;
