from slokit._entry import main

main()
