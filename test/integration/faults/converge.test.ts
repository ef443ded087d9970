import { faultMatrixSuite } from '../../helpers/fault-matrix';

/** The fault matrix, phase "converge": every write of every flow × every fault mode (test/helpers/fault-matrix.ts). */
faultMatrixSuite('converge');
