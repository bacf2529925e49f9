// ASan keeps freed memory in a quarantine (256 MiB by default) to catch
// use-after-free; it is resident, so thousands of create/destroy cycles
// would grow RSS by up to that much without any leak and the RSS bound of
// the leak tests would mean nothing. A small quarantine still catches
// use-after-free of recently freed objects. ASAN_OPTIONS overrides this.
extern "C" __attribute__((visibility("default"), used)) const char* __asan_default_options() { return "quarantine_size_mb=8"; }
