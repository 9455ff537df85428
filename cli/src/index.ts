// @nst/cli as a library: the program (for tests and embedding) and the command runner.
export { buildProgram } from './program';
export { runCli, type CliAction, type GlobalOptions } from './cli';
export { CliError } from './grpc';
