/* watchdog.c: being written */
