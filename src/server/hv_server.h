/*
 * hv_server.h: the service (protocol.md over HTTP): what `hypervisor serve` runs.
 *
 *   hypervisor serve [--config FILE]      start the service; without --config: HYPERVISOR_CONFIG,
 *                                         then /etc/hypervisor/config.yaml if it exists, then the
 *                                         embedded defaults (docs/config.md)
 *   hypervisor serve --check-config FILE  validate a configuration file and exit
 *
 * docs/service.md describes the endpoints, the decisions the protocol leaves open, the executor,
 * the metrics and the logs.
 */
#ifndef HV_SERVER_H
#define HV_SERVER_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Runs the service until SIGTERM or SIGINT, then stops accepting, lets running executions end
 * (within wasm.max_execution_time_seconds + 5 s), closes the audit store and returns 0. argv[0] is
 * the subcommand's name ("serve"); the options follow. Returns 1 when the service cannot start
 * (the reason is on stderr) and 2 on a usage error. Blocks SIGTERM and SIGINT in the calling
 * thread (and so in every thread it starts) and ignores SIGPIPE.
 */
int hv_server_main(int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif /* HV_SERVER_H */
