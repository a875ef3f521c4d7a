import { ModelError } from '../engine/errors';
import { TraceFormatError } from '../trace/validate';
import { COMPARE_USAGE, compareCommand } from './compareCommand';
import { EVAL_USAGE, evalCommand } from './evalCommand';
import { EXPORT_USAGE, exportCommand } from './exportCommand';
import { INSPECT_USAGE, inspectCommand } from './inspectCommand';
import { RUN_USAGE, runCommand } from './runCommand';

const USAGE = `usage:\n  ${RUN_USAGE}\n  ${EVAL_USAGE}\n  ${INSPECT_USAGE}\n  ${COMPARE_USAGE}\n  ${EXPORT_USAGE}`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  switch (command) {
    case 'run':
      return runCommand(rest);
    case 'eval':
      return evalCommand(rest);
    case 'compare':
      return compareCommand(rest);
    case 'export':
      return exportCommand(rest);
    case 'inspect-model':
      return inspectCommand(rest);
    default:
      console.error(USAGE);
      return command === undefined || command === '--help' ? 0 : 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    const known = e instanceof ModelError || e instanceof RangeError || e instanceof TraceFormatError || (e as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
    console.error(known ? `error: ${(e as Error).message}` : e);
    process.exitCode = known ? 2 : 1;
  },
);
