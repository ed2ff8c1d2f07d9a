// workerpool's worker script: it calls functions by the names registered here.
import workerpool from 'workerpool';
import { countPrimes, inc, sumArray } from './tasks.mjs';

workerpool.worker({ inc, countPrimes, sumArray });
