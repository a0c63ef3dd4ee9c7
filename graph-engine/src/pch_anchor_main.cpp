// Anchors the precompiled header shared by executables (tests, CLI); does nothing.
int main() { return 0; }
