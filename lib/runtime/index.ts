/** The light part of the composition root (records and guardrails); the write routes import ./service. */
export { baseRuntime, checkGuardrailsAgainstConfig, resetRuntime, setLocalGuardrails } from './base';
