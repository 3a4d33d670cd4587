/** Every command id the extension registers, in one place (the manifest test checks them against package.json). */
export const Commands = {
  trainFile: 'gatescope.trainFile',
  trainSelection: 'gatescope.trainSelection',
  trainWorkspace: 'gatescope.trainWorkspace',
  stopTraining: 'gatescope.stopTraining',
  watchTraining: 'gatescope.watchTraining',
  watchExplosion: 'gatescope.watchExplosion',
  resumeTraining: 'gatescope.resumeTraining',
  openModel: 'gatescope.openModel',
  sample: 'gatescope.sample',
  stepThrough: 'gatescope.stepThrough',
  inspect: 'gatescope.inspect',
  inspectSelection: 'gatescope.inspectSelection',
  colourTextByUnit: 'gatescope.colourTextByUnit',
  clearUnitColours: 'gatescope.clearUnitColours',
  findUnits: 'gatescope.findUnits',
  showModel: 'gatescope.showModel',
  refreshModels: 'gatescope.refreshModels',
  deleteModel: 'gatescope.deleteModel',
  revealModel: 'gatescope.revealModel',
  /** A .safetensors file in Gatescope's model view (the editor is optional: other tools own the file type too). */
  openModelEditor: 'gatescope.openModelEditor',
  /** The walkthrough's buttons (commands/walkthrough.ts): the bundled example, from the extension's files. */
  walkthroughOpenExample: 'gatescope.walkthrough.openExample',
  walkthroughShowCell: 'gatescope.walkthrough.showCell',
  walkthroughStepThrough: 'gatescope.walkthrough.stepThrough',
  walkthroughCompare: 'gatescope.walkthrough.compare',
  walkthroughFindCell: 'gatescope.walkthrough.findCell',
  /** Internal: lets the user pick a model; resolves to its URI (used by the debugger). */
  pickModel: 'gatescope.pickModel',
} as const;

/** Commands registered for tests only, and left out of the shipped manifest (no user can find or run them). */
export const TestCommands = {
  /** The state of the extension as tests need to see it. */
  testState: 'gatescope.test.state',
  /** What the editor shows of the debugger's current step: the decorations and inline values last given to VS Code. */
  debugEditor: 'gatescope.test.debugEditor',
} as const;

/** Context keys used in `when` clauses. */
export const ContextKeys = {
  training: 'gatescope.training',
  inspectorOpen: 'gatescope.inspectorOpen',
  unitColoursShown: 'gatescope.unitColoursShown',
} as const;
