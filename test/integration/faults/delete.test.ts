import { faultMatrixSuite } from '../../helpers/fault-matrix';

/** The fault matrix, phase "delete": every write of every flow × every fault mode (test/helpers/fault-matrix.ts). */
faultMatrixSuite('delete');
