// The flags every search and training run takes beside its hyperparameters and the device flags
// (RUN_DEVICE_HELP): --stop-after and --profile, which become the library's stopAfter and profile hooks.
import { numberFlag, POSITIVE_INTEGER, type Range } from './args.ts';

/** The numeric run flags' ranges (cliFlags checks every one). */
export const RUN_FLAG_RANGES: Record<string, Range> = { 'stop-after': POSITIVE_INTEGER };
/** parseArgs options of the run flags beside the numeric ones (in RUN_FLAG_RANGES). */
export const RUN_FLAGS = { profile: { type: 'boolean' } } as const;
export const RUN_HELP = `  --stop-after N   run at most N epochs now; the checkpoint is kept and --resume continues
`;

export interface RunFlags {
  profile: boolean;
  /** Epochs to run now at most; undefined when --stop-after is not given. */
  stopAfter?: number;
}

/** --profile and --stop-after as given. */
export function runFlags(flags: Record<string, unknown>): RunFlags {
  const stopAfter = flags['stop-after'] === undefined ? undefined : numberFlag('stop-after', String(flags['stop-after']), 0, RUN_FLAG_RANGES['stop-after']!);
  return { profile: flags.profile === true, ...(stopAfter !== undefined && { stopAfter }) };
}
