// The unit search on the bundled example, dark theme (see lib/unitSearch.mjs).
import { settingsFor } from './lib/inspect.mjs';
import { unitSearchScenario } from './lib/unitSearch.mjs';

export const settings = settingsFor('dark');
export default unitSearchScenario;
