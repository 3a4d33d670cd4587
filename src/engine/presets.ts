/**
 * Ready-made runs. `explode`: a tanh RNN whose recurrent weights start `initScale` times PyTorch's scale, trained with
 * a high learning rate — its gradient norm jumps tenfold and more within its first steps when nothing clips it
 * (measured on textwrap.py: 42× at step 10, to 99.2) — first without clipping, then the same run clipped at `clip`.
 * The command line's `--preset explode` and the extension's "Watch Gradients Explode" both train it.
 */
export const EXPLODE_PRESET = { cell: 'rnn_tanh', layers: 1, hidden: 128, embed: 64, seq: 64, batch: 32, lr: 0.03, initScale: 3, steps: 400, clip: 1 } as const;
