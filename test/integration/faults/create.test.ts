import { faultMatrixSuite } from '../../helpers/fault-matrix';

/** The fault matrix, phase "create": every write of every flow × every fault mode (test/helpers/fault-matrix.ts). */
faultMatrixSuite('create');
