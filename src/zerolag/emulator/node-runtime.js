// The Node.js managed runtime's client, rebuilt for the emulator (docs/emulator.md, "Node.js runtime"):
// /var/runtime/bootstrap runs this with the sandbox's node. It loads _HANDLER ("file.export", CommonJS or
// ES module) from LAMBDA_TASK_ROOT and serves the Runtime API like Lambda's nodejs image does: async and
// callback handlers, the context object, console lines tagged with the request id, init errors, handler
// errors, and an uncaught exception or unhandled rejection during an invocation ends the process after
// reporting the error.
'use strict';
const fs = require('fs');
const http = require('http');
const path = require('path');
const url = require('url');
const util = require('util');

const [apiHost, apiPort] = process.env.AWS_LAMBDA_RUNTIME_API.split(':');
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const BASE = '/2018-06-01/runtime';
let currentRequestId = null;

function call(method, route, body, headers) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: apiHost, port: apiPort, method, path: BASE + route, agent, headers: { 'Content-Type': 'application/json', ...headers } },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString() }));
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

function errorBody(err, fallbackType) {
  const e = err instanceof Error ? err : new Error(util.format('%s', err));
  const errorType = (err instanceof Error && err.name) || fallbackType;
  const trace = typeof e.stack === 'string' ? e.stack.split('\n') : [];
  return { errorType, body: JSON.stringify({ errorType, errorMessage: e.message, trace }) };
}

function postError(route, err, fallbackType) {
  const { errorType, body } = errorBody(err, fallbackType);
  return call('POST', route, body, { 'Lambda-Runtime-Function-Error-Type': errorType });
}

// Lambda's text log format: timestamp, request id, level, message; newlines become \r so one call is one line.
function patchConsole() {
  const levels = { log: 'INFO', info: 'INFO', warn: 'WARN', error: 'ERROR', debug: 'DEBUG', trace: 'TRACE' };
  for (const [name, level] of Object.entries(levels)) {
    console[name] = (...args) => {
      const line = `${new Date().toISOString()}\t${currentRequestId || 'undefined'}\t${level}\t${util.format(...args)}`;
      process.stdout.write(line.replace(/\n/g, '\r') + '\n');
    };
  }
}

async function loadHandler() {
  const spec = process.env._HANDLER || '';
  const root = process.env.LAMBDA_TASK_ROOT || '/var/task';
  const dot = spec.lastIndexOf('.');
  if (dot <= 0) throw Object.assign(new Error(`Bad handler ${spec}`), { name: 'Runtime.MalformedHandlerName' });
  const modulePath = path.resolve(root, spec.slice(0, dot));
  const exportName = spec.slice(dot + 1);
  const file = ['.js', '.mjs', '.cjs'].map((ext) => modulePath + ext).find((f) => fs.existsSync(f));
  if (!file) throw Object.assign(new Error(`Cannot find module '${spec.slice(0, dot)}'`), { name: 'Runtime.ImportModuleError' });
  let mod;
  try {
    mod = await import(url.pathToFileURL(file).href);
  } catch (err) {
    if (err && typeof err === 'object') err.name = err.name === 'SyntaxError' ? 'Runtime.UserCodeSyntaxError' : err.name;
    throw err;
  }
  const fn = mod[exportName] ?? (mod.default && mod.default[exportName]);
  if (typeof fn !== 'function') {
    throw Object.assign(new Error(`${spec} is undefined or not exported`), { name: 'Runtime.HandlerNotFound' });
  }
  return fn;
}

function makeContext(headers) {
  const deadline = Number(headers['lambda-runtime-deadline-ms'] || 0);
  const env = process.env;
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: env.AWS_LAMBDA_FUNCTION_NAME,
    functionVersion: env.AWS_LAMBDA_FUNCTION_VERSION,
    invokedFunctionArn: headers['lambda-runtime-invoked-function-arn'],
    memoryLimitInMB: env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    awsRequestId: headers['lambda-runtime-aws-request-id'],
    logGroupName: env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: env.AWS_LAMBDA_LOG_STREAM_NAME,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}

function runHandler(handler, event, context) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const done = (err, result) => {
      if (settled) return;
      settled = true;
      if (err !== undefined && err !== null) reject(err);
      else resolve(result);
    };
    context.done = done;
    context.succeed = (result) => done(null, result);
    context.fail = (err) => done(err || new Error('handled'));
    try {
      const out = handler(event, context, done);
      if (out && typeof out.then === 'function') out.then((r) => done(null, r), (e) => done(e));
      else if (handler.length < 3) done(null, out);
    } catch (err) {
      done(err);
    }
  });
}

async function fatal(err, errorType) {
  // An error outside the handler's promise (a throw in a timer, an unhandled rejection): report it for the
  // invocation in flight, then exit like Lambda's runtime does (the platform records Runtime.ExitError).
  console.error(util.format('%s', (err && err.stack) || err));
  if (currentRequestId) {
    try {
      await postError(`/invocation/${currentRequestId}/error`, err, errorType);
    } catch (_) {
      // the API is gone: nothing to report to
    }
  }
  process.exit(129);
}

async function main() {
  patchConsole();
  process.on('uncaughtException', (err) => fatal(err, 'Runtime.UncaughtException'));
  process.on('unhandledRejection', (err) => fatal(err, 'Runtime.UnhandledPromiseRejection'));
  let handler;
  try {
    handler = await loadHandler();
  } catch (err) {
    console.error(util.format('%s', (err && err.stack) || err));
    await postError('/init/error', err, 'Runtime.ImportModuleError');
    process.exit(1);
  }
  for (;;) {
    const next = await call('GET', '/invocation/next');
    const context = makeContext(next.headers);
    currentRequestId = context.awsRequestId;
    if (next.headers['lambda-runtime-trace-id']) process.env._X_AMZN_TRACE_ID = next.headers['lambda-runtime-trace-id'];
    else delete process.env._X_AMZN_TRACE_ID;
    let event;
    try {
      event = JSON.parse(next.body || 'null');
    } catch (err) {
      await postError(`/invocation/${currentRequestId}/error`, err, 'Runtime.UnmarshalError');
      continue;
    }
    try {
      const result = await runHandler(handler, event, context);
      await call('POST', `/invocation/${currentRequestId}/response`, JSON.stringify(result === undefined ? null : result));
    } catch (err) {
      await postError(`/invocation/${currentRequestId}/error`, err, 'Error');
    }
    currentRequestId = null;
  }
}

main().catch((err) => {
  console.error(util.format('%s', (err && err.stack) || err));
  process.exit(1);
});
