import { useFastKernels } from '../src/engine/backend';

// Unit tests run the engine as its users do: the worker, the CLI and the extension install the WebAssembly
// kernels at start (src/engine/backend.ts), so the tests install them too. A test that wants the TypeScript
// reference names it (new JsKernels(), or a float64 network).
useFastKernels();
