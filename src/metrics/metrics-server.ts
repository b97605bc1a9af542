import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpErrors } from '../errors.js';
import type { Logger } from '../log.js';
import type { PrometheusMetrics } from './prometheus-metrics.js';

const METRICS_PATH = '/metrics';

/**
 * Prometheus's scrape endpoint, `GET /metrics` on a port of its own (metricsPort), as soketi serves it: the
 * metrics say which apps exist and how busy they are, so they are kept off the public port. node:http, not
 * uWS: a scrape every few seconds needs no speed, and this keeps uWS in transport/.
 */
export class MetricsServer {
  private readonly server: Server;

  constructor(metrics: PrometheusMetrics, log: Logger) {
    this.server = createServer((req, res) => {
      if (req.method !== 'GET' || req.url?.split('?')[0] !== METRICS_PATH) {
        res.writeHead(HttpErrors.RouteNotFound.status, { 'content-type': 'text/plain' }).end(`only GET ${METRICS_PATH} is served here\n`);
        return;
      }
      metrics.text().then(
        (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
        (error: unknown) => {
          log.error('metrics could not be collected', { error: String(error) });
          res.writeHead(HttpErrors.ServerError.status, { 'content-type': 'text/plain' }).end('metrics could not be collected\n');
        },
      );
    });
  }

  /** Resolves to the bound port (0 picks a free one); rejects when the port cannot be had. */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', (error) => reject(new Error(`cannot serve metrics on ${host}:${port}: ${error.message}`)));
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.closeAllConnections();
      this.server.close(() => resolve());
    });
  }
}
