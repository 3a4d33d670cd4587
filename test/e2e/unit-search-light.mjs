// The unit search on the bundled example, light theme (see lib/unitSearch.mjs).
import { settingsFor } from './lib/inspect.mjs';
import { unitSearchScenario } from './lib/unitSearch.mjs';

export const settings = settingsFor('light');
export default unitSearchScenario;
