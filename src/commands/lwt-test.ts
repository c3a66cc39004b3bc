import type { Argv, CommandModule } from 'yargs';

export interface LwtTestArgs {
  mode: string;
}

const lwtTest: CommandModule<object, LwtTestArgs> = {
  command: 'lwt-test',
  describe: "Check that a broker publishes a client's Will (last will and testament) when the client goes away",
  builder: (yargs: Argv) =>
    yargs
      .option('mode', {
        type: 'string',
        default: 'all',
        describe: "How the test client goes away without a clean DISCONNECT; 'all' tries each way",
      })
      .example('$0 lwt-test --mode all', 'Try every way of dropping the client and check each Will arrives'),
  handler: async () => {
    // Lazy: the client stack and the raw codec client load only when this command runs.
    const { notImplemented } = await import('./not-implemented.js');
    throw notImplemented('lwt-test');
  },
};

export default lwtTest;
