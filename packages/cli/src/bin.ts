#!/usr/bin/env node
import { flushOutput } from './io';
import { main } from './main';

const code = await main(process.argv.slice(2));
// Exit explicitly once every line is written: a pooled keep-alive socket must not hold the
// process open after the command is done.
await flushOutput();
process.exit(code);
