// Entry point of the runtime controller (see ARCHITECTURE in the README).
process.stdout.write('cdk8s-storage-controller\n');
