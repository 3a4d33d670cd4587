// The Gradient reach card with the comparison RNN, light theme (see lib/reach.mjs).
import { settingsFor } from './lib/inspect.mjs';
import { reachScenario } from './lib/reach.mjs';

export const settings = settingsFor('light');
export default reachScenario;
