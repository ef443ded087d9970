/**
 * The layering README.md ("How it works") describes, as rules `npm test` enforces (npm run lint:deps):
 *
 *   handlers/ → lib/runtime (composition root) → lib/onboarding (the planner and the verbs)
 *             → lib/policy, lib/iam-policy, lib/snippets (pure) · lib/aws (adapters) · lib/store (records)
 *
 * Type-only imports are not dependencies at run time and are ignored (tsPreCompilationDeps: false).
 */
const PURE = '^lib/(policy|iam-policy|snippets)/';
const ENGINE =
  '^lib/onboarding/(plan/(role|statements|transition|provision|pod-identity)|gather/observe|act/(apply|execute)|model/desired|verbs/(provision|offboard|verify))\\.ts$';
/** lib/onboarding is a pipeline: model → request → gather → plan → act → verbs; a stage uses only earlier ones. */
const STAGES = ['model', 'request', 'gather', 'plan', 'act', 'verbs'];
const later = (stage) => STAGES.slice(STAGES.indexOf(stage) + 1);

module.exports = {
  forbidden: [
    { name: 'no-circular', severity: 'error', comment: 'modules form a tree', from: {}, to: { circular: true } },
    {
      name: 'service-never-loads-tooling',
      severity: 'error',
      comment: 'the emulator, scripts, tests and benchmarks are never bundled into a Lambda',
      from: { path: '^(lib|handlers)/' },
      to: { path: '^(emulator|scripts|test|bench|conformance)/' },
    },
    {
      name: 'emulator-shares-only-the-evaluator',
      severity: 'error',
      comment:
        'the emulator judges the service: it may share the IAM evaluator and grammar, nothing of the service itself',
      from: { path: '^emulator/' },
      to: { path: '^(lib/(?!iam-policy/|arn\\.ts)|handlers/)' },
    },
    {
      name: 'pure-code-does-no-io',
      severity: 'error',
      comment: 'policy builders, the evaluator and snippet renderers are pure: no AWS, no store, no engine',
      from: { path: PURE },
      to: { path: '^lib/(aws|store|onboarding|runtime|http)/|^handlers/|^@aws-sdk/|^node:(fs|net|http)' },
    },
    {
      name: 'planner-is-pure',
      severity: 'error',
      comment:
        'the request, the model and the planner are pure: what is live comes in as data, steps and refusals go out as data',
      from: { path: '^lib/onboarding/(request|model|plan)/' },
      to: {
        path: '^lib/(aws|store|runtime|http)/|^@aws-sdk/|^node:(fs|net|http)|^lib/onboarding/(gather|act|verbs)/',
        reachable: true,
      },
    },
    ...STAGES.slice(0, -1).map((stage) => ({
      name: `pipeline-${stage}-uses-only-earlier-stages`,
      severity: 'error',
      comment: 'lib/onboarding/{model,request,gather,plan,act,verbs}: each stage imports only the stages before it',
      from: { path: `^lib/onboarding/${stage}/` },
      to: { path: `^lib/onboarding/(${later(stage).join('|')})/` },
    })),
    {
      name: 'adapters-know-no-domain',
      severity: 'error',
      comment: 'lib/aws turns SDK calls and errors into domain terms; it never decides',
      from: { path: '^lib/aws/' },
      to: { path: '^lib/(onboarding|store|runtime|http|guardrails|snippets)/' },
    },
    {
      name: 'store-knows-no-aws',
      severity: 'error',
      from: { path: '^lib/store/' },
      to: { path: '^lib/(aws|onboarding|runtime|http|snippets|policy)/' },
    },
    {
      name: 'engine-is-not-a-composition-root',
      severity: 'error',
      comment: 'lib/onboarding gets its dependencies passed in; only lib/runtime builds them',
      from: { path: '^lib/(onboarding|policy|snippets|aws|store|guardrails|http)/' },
      to: { path: '^lib/runtime/' },
    },
    {
      name: 'handlers-only-wire',
      severity: 'error',
      comment: 'a handler parses, calls one function in lib/onboarding, and shapes the answer',
      from: { path: '^handlers/' },
      to: { path: '^lib/(aws/(?!errors)|store|policy|snippets|iam-policy)/' },
    },
    {
      name: 'read-routes-stay-light',
      severity: 'error',
      comment: 'health, GET and list load neither the engine nor the snippets nor the policy builders (cold start)',
      from: { path: '^handlers/(get|list|health)\\.ts$' },
      to: { path: `${ENGINE}|^lib/snippets/|^lib/policy/(documents|actions)\\.ts$`, reachable: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|scratch|coverage|\\.serverless|\\.esbuild|bench/\\.build)/' },
    tsPreCompilationDeps: false,
    tsConfig: { fileName: 'tsconfig.json' },
    moduleSystems: ['cjs', 'es6'],
  },
};
